"""Alerts against real servers the test starts on 127.0.0.1: an SMTP server (aiosmtpd, STARTTLS with a certificate
made here, AUTH LOGIN/PLAIN) and an HTTP receiver standing in for a JSON webhook and the DingTalk, WeCom and Feishu
robots (it checks each robot's signature as the vendor documents it and answers in the robot's format). The store
is filled through the real Ingestor; the rules fire, deduplicate, clear, retry after a 500, open incidents, hold
for quiet hours, count SLA clocks - and no secret reaches the store."""
import base64
import datetime
import hashlib
import hmac
import http.server
import ipaddress
import json
import socket
import threading
import urllib.parse
from datetime import timedelta

import pytest

from bjeic_ops import alerts, incidents
from bjeic_ops.ingest import Ingestor
from bjeic_ops.store import COMPLETE, Store
from bjeic_ops.times import now

PASSWORD = 'smtp-pw-Zq81x'
DING_SECRET = 'SECdingtalk-77f1'
FEISHU_SECRET = 'feishu-sec-3a9'
TOKEN = 'hook-token-5c2'
ROBOT_TOKEN = 'robot-access-token-9e4'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def certificate(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime.now(datetime.timezone.utc) - timedelta(days=1))
            .not_valid_after(datetime.datetime.now(datetime.timezone.utc) + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def smtp_server(certificate):
    import ssl
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    class Inbox:
        messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append({'from': envelope.mail_from, 'to': envelope.rcpt_tos,
                                  'data': envelope.content.decode('utf-8', 'replace'), 'tls': session.ssl is not None,
                                  'user': session.login_data})
            return '250 OK'

    def authenticate(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == b'bjeic-ops' and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    inbox = Inbox()
    inbox.messages = []
    port = free_port()
    controller = Controller(inbox, hostname='127.0.0.1', port=port, tls_context=context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    yield port, inbox
    controller.stop()


class Receiver(http.server.BaseHTTPRequestHandler):
    requests = []
    fail_next = {}          # path -> how many times to answer 500

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])).decode('utf-8'))
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append({'path': url.path, 'query': query, 'body': body, 'auth': self.headers.get('Authorization')})
        if self.fail_next.get(url.path):
            self.fail_next[url.path] -= 1
            return self.answer(500, {'error': 'down'})
        if url.path == '/dingtalk':
            stamp = int(query['timestamp'])
            wanted = base64.b64encode(hmac.new(DING_SECRET.encode(), ('%d\n%s' % (stamp, DING_SECRET)).encode(),
                                               hashlib.sha256).digest()).decode()
            good = query.get('access_token') == ROBOT_TOKEN and query.get('sign') == wanted
            return self.answer(200, {'errcode': 0 if good else 310000, 'errmsg': 'ok' if good else 'sign not match'})
        if url.path == '/feishu':
            stamp = int(body['timestamp'])
            wanted = base64.b64encode(hmac.new(('%d\n%s' % (stamp, FEISHU_SECRET)).encode(), b'',
                                               hashlib.sha256).digest()).decode()
            good = body.get('sign') == wanted and body['msg_type'] == 'text'
            return self.answer(200, {'code': 0 if good else 19021, 'msg': 'success' if good else 'sign match fail'})
        if url.path == '/wecom':
            good = body.get('msgtype') == 'markdown' and body['markdown']['content']
            return self.answer(200, {'errcode': 0 if good else 40008, 'errmsg': 'ok'})
        return self.answer(200 if self.headers.get('Authorization') == 'Bearer ' + TOKEN else 401, {})

    def answer(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def receiver():
    Receiver.requests = []
    Receiver.fail_next = {}
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % server.server_address[1], Receiver
    server.shutdown()


@pytest.fixture
def settings(tmp_path, smtp_server, receiver, certificate, monkeypatch):
    base, _ = receiver
    monkeypatch.setenv('T_SMTP_PASSWORD', PASSWORD)
    monkeypatch.setenv('T_DING_URL', '%s/dingtalk?access_token=%s' % (base, ROBOT_TOKEN))
    monkeypatch.setenv('T_DING_SECRET', DING_SECRET)
    monkeypatch.setenv('T_FEISHU_SECRET', FEISHU_SECRET)
    monkeypatch.setenv('T_TOKEN', TOKEN)
    path = tmp_path / 'alerts.yml'
    path.write_text(json.dumps({
        'channels': {
            'mail': {'type': 'smtp', 'host': '127.0.0.1', 'port': smtp_server[0], 'starttls': True,
                     'username': 'bjeic-ops', 'password_env': 'T_SMTP_PASSWORD', 'ca_file': certificate[0],
                     'from': 'bjeic-ops@example.test', 'to': ['oncall@example.test'], 'severities': ['critical', 'warning']},
            'ding': {'type': 'dingtalk', 'url_env': 'T_DING_URL', 'secret_env': 'T_DING_SECRET'},
            'wecom': {'type': 'wecom', 'url': base + '/wecom?key=robot-key'},
            'feishu': {'type': 'feishu', 'url': base + '/feishu', 'secret_env': 'T_FEISHU_SECRET'},
            'hook': {'type': 'webhook', 'url': base + '/hook', 'token_env': 'T_TOKEN'},
        },
        'incidents_from_findings': {'fs.readonly': 2},
        'retry': {'attempts': 3, 'backoff_seconds': 60},
    }))
    return alerts.load(str(path))


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def inspection(store, host, findings, at=None):
    """A complete daily inspection run in which `host` returned these findings, through the real Ingestor."""
    run_id = store.begin_run('daily_inspection.yml', inventory='inventories/example', operator='schedule:daily')
    ingest = Ingestor(store, run_id, operator='schedule:daily')
    result = {'changed': False, 'findings': [
        {'check': check, 'severity': severity, 'subject': subject, 'value': None, 'threshold': None, 'message': message}
        for check, severity, subject, message in findings], 'ledger': []}
    ingest({'event': 'runner_on_ok', 'event_data': {'host': host, 'task': 'Inspect', 'task_action': 'bjeic.ops.linux_inspect',
                                                   'res': result}})
    ingest.flush()
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    return run_id


READONLY = ('fs.readonly', 'critical', '/data', '/data is mounted read-only')


def test_a_critical_finding_reaches_every_channel_once_then_its_clearing(store, settings, smtp_server, receiver):
    _, inbox = smtp_server
    _, hook = receiver
    inspection(store, 'web01', [READONLY, ('fs.usage', 'warning', '/var', '/var is 85% full')])
    counts = alerts.run(store, settings)
    assert counts == {'alerts': 1, 'sent': 5, 'failed': 0, 'pending': 0, 'held': 0}
    [mail] = inbox.messages
    assert mail['tls'] and mail['to'] == ['oncall@example.test'] and '/data is mounted read-only' in mail['data']
    assert 'incident 1 opened at level 2' in mail['data']
    paths = sorted(r['path'] for r in hook.requests)
    assert paths == ['/dingtalk', '/feishu', '/hook', '/wecom']
    webhook = next(r for r in hook.requests if r['path'] == '/hook')
    assert webhook['auth'] == 'Bearer ' + TOKEN
    assert (webhook['body']['event'], webhook['body']['rule'], webhook['body']['host']) == ('firing', 'findings', 'web01')
    ding = next(r for r in hook.requests if r['path'] == '/dingtalk')
    assert ding['body']['msgtype'] == 'markdown' and '/data is mounted read-only' in ding['body']['markdown']['text']
    # The finding opened an incident at the mapped level: its clocks run without a human.
    [incident] = store.incidents()
    assert (incident['level'], incident['host'], incident['opened_by']) == (2, 'web01', 'alerts')

    # The same finding in the next inspection: nothing new.
    inspection(store, 'web01', [READONLY])
    assert alerts.run(store, settings)['alerts'] == 0 and len(inbox.messages) == 1
    # Gone from the next inspection: one "cleared" message, and a note on the incident (a human resolves it).
    inspection(store, 'web01', [])
    assert alerts.run(store, settings) == {'alerts': 1, 'sent': 5, 'failed': 0, 'pending': 0, 'held': 0}
    assert 'cleared' in inbox.messages[-1]['data'] and 'incident 1 may be resolved' in inbox.messages[-1]['data']
    assert next(r for r in hook.requests[4:] if r['path'] == '/hook')['body']['event'] == 'cleared'
    assert [e['action'] for e in store.incident_events(1)] == ['open', 'note']
    assert store.get_incident(1)['resolved_at'] is None


def test_a_failed_delivery_is_retried_with_backoff_and_recorded(store, settings, receiver):
    _, hook = receiver
    hook.fail_next = {'/hook': 2}
    only_hook = dict(settings, channels=[c for c in settings['channels'] if c['name'] == 'hook'])
    inspection(store, 'db01', [('db.unreachable', 'critical', 'orcl', 'orcl does not answer')])
    at = now()
    assert alerts.run(store, only_hook, at=at)['pending'] == 1
    [note] = store.notifications()
    assert (note['state'], note['attempts'], note['error']) == ('pending', 1, 'channel hook answered HTTP 500')
    assert alerts.run(store, only_hook, at=at + timedelta(seconds=30))['pending'] == 1     # not due before 60 s
    assert store.notifications()[0]['attempts'] == 1
    assert alerts.run(store, only_hook, at=at + timedelta(seconds=61))['pending'] == 1     # second try: 500 again
    assert alerts.run(store, only_hook, at=at + timedelta(seconds=61 + 121))['sent'] == 1  # after 120 s more
    [note] = store.notifications()
    assert (note['state'], note['attempts'], note['error']) == ('sent', 3, None)
    assert [r['path'] for r in hook.requests] == ['/hook'] * 3


def test_a_channel_that_stays_down_is_given_up_with_the_reason(store, settings):
    dead = dict(settings, channels=[{'name': 'dead', 'type': 'webhook', 'url': 'http://127.0.0.1:%d/x' % free_port(),
                                     'severities': ['critical']}])
    inspection(store, 'db01', [('db.unreachable', 'critical', 'orcl', 'orcl does not answer')])
    at = now()
    for step in range(3):
        alerts.run(store, dead, at=at + timedelta(hours=step))
    [note] = store.notifications()
    assert note['state'] == 'failed' and note['attempts'] == 3
    assert note['error'].startswith('channel dead could not be reached') and '127.0.0.1' not in note['error'].split(':')[0]


def test_no_secret_reaches_the_store(store, settings, tmp_path, receiver):
    _, hook = receiver
    inspection(store, 'web01', [READONLY])
    alerts.run(store, settings)
    hook.fail_next = {'/dingtalk': 5}
    inspection(store, 'web01', [])
    alerts.run(store, settings)
    raw = open(tmp_path / 'store.sqlite', 'rb').read() + b''.join(
        open(p, 'rb').read() for p in tmp_path.glob('store.sqlite-*'))
    for secret in (PASSWORD, DING_SECRET, FEISHU_SECRET, TOKEN, ROBOT_TOKEN):
        assert secret.encode() not in raw, secret


def test_a_secret_written_in_the_file_is_refused(tmp_path):
    path = tmp_path / 'alerts.yml'
    path.write_text(json.dumps({'channels': {'ding': {'type': 'dingtalk', 'url': 'http://x', 'secret': 'SECabc'}}}))
    with pytest.raises(alerts.AlertError, match='gives secret in the file; name an environment variable with secret_env'):
        alerts.load(str(path))


def test_warnings_wait_out_quiet_hours_but_critical_ones_do_not(store, settings, smtp_server):
    _, inbox = smtp_server
    mail = dict(next(c for c in settings['channels'] if c['name'] == 'mail'), quiet_hours='00:00-23:59')
    quiet = dict(settings, channels=[mail], rules={'findings': {'severity': 'warning'}})
    inspection(store, 'web01', [('fs.usage', 'warning', '/var', '/var is 85% full'), READONLY])
    counts = alerts.run(store, quiet)
    assert (counts['sent'], counts['held']) == (1, 1)
    assert [m['data'].count('read-only') > 0 for m in inbox.messages] == [True]
    late = dict(quiet, channels=[dict(mail, quiet_hours=None)])
    assert alerts.run(store, late)['sent'] == 1         # the quiet hours are over: the warning goes
    assert '/var is 85% full' in inbox.messages[-1]['data']


def test_incident_clocks_alert_at_eighty_percent_and_at_breach(store, settings, receiver):
    _, hook = receiver
    only_hook = dict(settings, channels=[dict(c, severities=['critical', 'warning']) for c in settings['channels']
                                         if c['name'] == 'hook'], rules={'sla': {'warn_at_pct': 80}})
    opened = now() - timedelta(minutes=100)              # level 1: resolution due in 2 h, first response in 5 min
    incident_id = store.open_incident(1, 'db01', 'orders database down', operator='li.na', at=opened)
    incidents.acknowledge(store, incident_id, 'first', 'li.na', at=opened + timedelta(minutes=3))
    alerts.run(store, only_hook)
    titles = [r['body']['title'] for r in hook.requests]
    assert titles == ['[db01] incident 1 level 1: resolution 80% used']
    alerts.run(store, only_hook, at=now() + timedelta(minutes=21))
    assert [r['body']['title'] for r in hook.requests][1:] == ['[db01] incident 1 level 1: resolution breached']
    assert hook.requests[1]['body']['severity'] == 'critical'
    alerts.run(store, only_hook, at=now() + timedelta(minutes=30))
    assert len(hook.requests) == 2                      # each mark once


def test_failed_and_unreachable_hosts_and_failed_drills(store, settings, receiver):
    _, hook = receiver
    only_hook = dict(settings, channels=[c for c in settings['channels'] if c['name'] == 'hook'],
                     rules={'hosts': True, 'drills': True})
    run_id = store.begin_run('patch.yml', operator='li.na')
    ingest = Ingestor(store, run_id, operator='li.na')
    ingest({'event': 'runner_on_unreachable', 'event_data': {'host': 'web07', 'task': 'Plan', 'res': {'msg': 'ssh: timeout'}}})
    ingest({'event': 'runner_on_ok', 'event_data': {'host': 'db01', 'task': 'Drill', 'task_action': 'bjeic.ops.drill_record',
                                                   'res': {'changed': False, 'drill': {
                                                       'name': 'restore orders', 'kind': 'restore', 'outcome': 'failed',
                                                       'started': '2026-12-02T01:00:00Z', 'finished': '2026-12-02T01:30:00Z',
                                                       'timings': {}, 'objectives': {}, 'steps': []}}}})
    ingest.flush()
    store.finish_run(run_id, 'incomplete', 'failed', 2)
    alerts.run(store, only_hook)
    titles = sorted(r['body']['title'] for r in hook.requests)
    assert titles == ['[db01] drill failed: restore orders', '[web07] web07 unreachable in run 1 (patch.yml)']
    alerts.run(store, only_hook)
    assert len(hook.requests) == 2


def test_the_monthly_report_counts_notifications_and_days_without_an_inspection(store, settings, receiver):
    from bjeic_ops import reports
    _, hook = receiver
    hook.fail_next = {'/wecom': 99}
    lean = dict(settings, retry={'attempts': 1, 'backoff_seconds': 1},
                channels=[c for c in settings['channels'] if c['name'] in ('hook', 'wecom')])
    inspection(store, 'web01', [READONLY])
    alerts.run(store, lean)
    month = now().astimezone().strftime('%Y-%m')
    report = reports.monthly(store, month)
    sections = dict((s.ident, s) for s in report.sections)
    assert sections['notifications'].rows == [
        {'channel': 'hook', 'n_sent': 1, 'n_failed': 0, 'n_pending': 0, 'n_held': 0},
        {'channel': 'wecom', 'n_sent': 0, 'n_failed': 1, 'n_pending': 0, 'n_held': 0}]
    kpis = dict((k, v) for k, v, _t in sections['summary'].kpis)
    assert (kpis['notifications_sent'], kpis['notifications_failed']) == (1, 1)
    days = sections['inspection-days'].rows
    today = now().astimezone().strftime('%m-%d')
    assert [d['covered'] for d in days if d['day'] == today] == ['yes']
    assert kpis['days_without_inspection'] == sum(1 for d in days if d['covered'] == 'no') == len(days) - 1


def test_the_command_line_with_an_incident_opened_in_the_past(cli, tmp_path, receiver):
    base, hook = receiver
    config = tmp_path / 'cli-alerts.yml'
    config.write_text(json.dumps({'channels': {'hook': {'type': 'webhook', 'url': base + '/hook', 'token_env': 'T_TOKEN',
                                                        'severities': ['critical', 'warning']}},
                                  'rules': {'sla': {'warn_at_pct': 80}}}))
    cli.env['T_TOKEN'] = TOKEN
    opened = (datetime.datetime.now() - timedelta(hours=3, minutes=20)).strftime('%Y-%m-%dT%H:%M')   # 83 % of 4 h
    cli('incident', 'open', '--level', '2', '--host', 'app03', '--summary', 'queue stalled', '--at', opened)
    done = cli('alerts', 'run', '--config', config)
    assert 'alerts: 2 new; notifications sent 2' in done.stdout
    titles = sorted(r['body']['title'] for r in hook.requests)
    assert titles == ['[app03] incident 1 level 2: first_response breached', '[app03] incident 1 level 2: resolution 80% used']
    # As at a time after the 4 hours: the resolution clock's breach, once.
    later = (datetime.datetime.now() + timedelta(hours=2)).strftime('%Y-%m-%dT%H:%M')
    assert 'alerts: 1 new' in cli('alerts', 'run', '--config', config, '--at', later).stdout
    listed = json.loads(cli('alerts', 'list', '--format', 'json').stdout)
    assert [(n['rule'], n['state']) for n in listed] == [('sla', 'sent')] * 3
    bad = cli('alerts', 'run', '--config', tmp_path / 'missing.yml', check=False)
    assert bad.returncode == 1 and bad.stderr.startswith('bjeic-ops: alert settings') and 'Traceback' not in bad.stderr
