"""Where alerts go: SMTP e-mail, a generic JSON webhook, and the group robots of DingTalk (钉钉), WeCom (企业微信)
and Feishu (飞书), each in its documented message format and signing scheme.

Secrets (the SMTP password, a robot's webhook URL, which carries its token, and its signing secret) are read from
environment variables named in the alert settings, never from the file itself, and never appear in an error: a
failure is described by the channel's name, never by its URL.
"""
import base64
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

from . import BjeicOpsError

TIMEOUT = 10          # seconds per delivery attempt
TYPES = ('smtp', 'webhook', 'dingtalk', 'wecom', 'feishu')


class DeliveryError(BjeicOpsError):
    """A notification could not be delivered; the message names the channel and the reason, never a secret."""


def secret(channel, field):
    """The value of the environment variable that channel[field + '_env'] names (None when not configured)."""
    name = channel.get(field + '_env')
    if not name:
        return None
    value = os.environ.get(name)
    if not value:
        raise DeliveryError('channel %s: environment variable %s (its %s) is not set' % (channel['name'], name, field))
    return value


def dingtalk_sign(secret_text, timestamp_ms):
    """DingTalk: base64(HmacSHA256(key=secret, msg="<timestamp ms>\\n<secret>")), URL-encoded."""
    digest = hmac.new(secret_text.encode(), ('%d\n%s' % (timestamp_ms, secret_text)).encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret_text, timestamp_s):
    """Feishu: base64(HmacSHA256(key="<timestamp s>\\n<secret>", msg=empty))."""
    digest = hmac.new(('%d\n%s' % (timestamp_s, secret_text)).encode(), b'', hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def markdown(note):
    lines = ['### %s' % note['title'], '', note['body'].replace('\n', '\n\n')]
    return '\n'.join(lines)


def build_request(channel, note, clock=time.time):
    """(url, JSON body) of a webhook-type channel's delivery of `note` ({title, body, severity, event, ...})."""
    kind = channel['type']
    url = channel.get('url') or secret(channel, 'url')
    if not url:
        raise DeliveryError('channel %s has no url (or url_env)' % channel['name'])
    if kind == 'dingtalk':
        body = {'msgtype': 'markdown', 'markdown': {'title': note['title'][:64], 'text': markdown(note)}}
        key = secret(channel, 'secret')
        if key:
            stamp = int(clock() * 1000)
            url += ('&' if '?' in url else '?') + 'timestamp=%d&sign=%s' % (stamp, dingtalk_sign(key, stamp))
        return url, body
    if kind == 'wecom':
        return url, {'msgtype': 'markdown', 'markdown': {'content': markdown(note)[:4000]}}
    if kind == 'feishu':
        body = {'msg_type': 'text', 'content': {'text': '%s\n%s' % (note['title'], note['body'])}}
        key = secret(channel, 'secret')
        if key:
            stamp = int(clock())
            body.update(timestamp=str(stamp), sign=feishu_sign(key, stamp))
        return url, body
    return url, {'source': 'bjeic-ops', 'event': note['event'], 'rule': note['rule'], 'key': note['key'],
                 'severity': note['severity'], 'host': note.get('host'), 'title': note['title'], 'text': note['body'],
                 'at': note['at']}


def _post(channel, url, body):
    headers = {'Content-Type': 'application/json; charset=utf-8'}
    token = secret(channel, 'token')
    if token:
        headers['Authorization'] = 'Bearer ' + token
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode('utf-8'), headers=headers,
                                     method='POST')
    context = ssl.create_default_context(cafile=channel.get('ca_file')) if url.startswith('https') else None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            text = response.read(65536).decode('utf-8', 'replace')
    except urllib.error.HTTPError as exc:
        raise DeliveryError('channel %s answered HTTP %d' % (channel['name'], exc.code))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise DeliveryError('channel %s could not be reached: %s' % (channel['name'], reason))
    return text


def _robot_answer(channel, text):
    """The robots answer HTTP 200 with an error code in the body: {errcode, errmsg} or {code, msg}."""
    try:
        answer = json.loads(text)
    except ValueError:
        raise DeliveryError('channel %s answered something that is not JSON' % channel['name'])
    code = answer.get('errcode', answer.get('code', answer.get('StatusCode', 0)))
    if code not in (0, '0'):
        raise DeliveryError('channel %s refused the message: %s %s' % (
            channel['name'], code, str(answer.get('errmsg') or answer.get('msg') or '')[:200]))


def _smtp(channel, note):
    message = EmailMessage()
    message['Subject'] = note['title']
    message['From'] = channel['from']
    message['To'] = ', '.join(channel['to'])
    message.set_content(note['body'])
    context = ssl.create_default_context(cafile=channel.get('ca_file'))
    try:
        if channel.get('tls'):
            client = smtplib.SMTP_SSL(channel['host'], channel.get('port', 465), timeout=TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(channel['host'], channel.get('port', 25), timeout=TIMEOUT)
        with client:
            if not channel.get('tls') and channel.get('starttls', True):
                client.starttls(context=context)
            if channel.get('username'):
                client.login(channel['username'], secret(channel, 'password') or '')
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError('channel %s: the mail server refused the login (%d)' % (channel['name'], exc.smtp_code))
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise DeliveryError('channel %s: %s' % (channel['name'], str(exc).splitlines()[0][:200] if str(exc)
                                                 else type(exc).__name__))


def deliver(channel, note):
    """Send one notification; raises DeliveryError with the reason."""
    if channel['type'] == 'smtp':
        return _smtp(channel, note)
    url, body = build_request(channel, note)
    text = _post(channel, url, body)
    if channel['type'] in ('dingtalk', 'wecom', 'feishu'):
        _robot_answer(channel, text)
