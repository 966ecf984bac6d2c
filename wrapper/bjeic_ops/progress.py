"""Progress while a run goes: a live rich display on a terminal, plain lines otherwise (CI)."""
import re
import time

CONTROL = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]')   # C0, C1, Unicode line separators


def printable(text):
    """Text safe to put on a terminal: control characters (an escape sequence in a host or file name) are
    shown as \\xNN instead of being obeyed."""
    text = text.encode('utf-8', 'backslashreplace').decode('utf-8')   # bytes that were not UTF-8 (surrogates)
    return CONTROL.sub(lambda match: '\\x%02x' % ord(match.group()), text)


class PlainProgress:
    """One line per host result that changes the picture, and at most one status line every 10 s."""

    def __init__(self, stream):
        self.stream = stream
        self._reported = set()
        self._last = 0.0

    def update(self, stats):
        news = (stats.hosts_failed | stats.hosts_unreachable) - self._reported
        for host in sorted(news):
            state = 'unreachable' if host in stats.hosts_unreachable else 'failed'
            print('host %s %s%s' % (printable(host), state, reason(stats, host)), file=self.stream, flush=True)
        self._reported |= news
        if time.monotonic() - self._last >= 10:
            self._last = time.monotonic()
            print(summary_line(stats), file=self.stream, flush=True)

    def close(self, stats):
        """The last line; none when the run never began (`stats` None)."""
        if stats is not None:
            print(summary_line(stats), file=self.stream, flush=True)


class RichProgress:
    def __init__(self, console):
        from rich.live import Live
        self.console = console
        self.live = Live(console=console, refresh_per_second=4, transient=False)
        self.live.start()

    def update(self, stats):
        self.live.update(self._render(stats))

    def _render(self, stats):
        from rich.table import Table
        from rich.text import Text
        table = Table.grid(padding=(0, 2))
        total = stats.hosts_total or '?'
        table.add_row('[bold]hosts[/]', '%d / %s reported' % (len(stats.hosts_seen), total),
                      '[red]failed %d[/]' % len(stats.hosts_failed),
                      '[magenta]unreachable %d[/]' % len(stats.hosts_unreachable))
        table.add_row('[bold]findings[/]', '[red]critical %d[/]' % stats.findings.get('critical', 0),
                      '[yellow]warning %d[/]' % stats.findings.get('warning', 0),
                      'info %d' % stats.findings.get('info', 0))
        table.add_row('[bold]task[/]', Text(printable(stats.current_task or '-')), 'changed %d' % stats.changed, '')
        return table

    def close(self, stats):
        if stats is not None:
            self.live.update(self._render(stats))
        else:
            self.live.update('')
        self.live.stop()
        if stats is not None:
            from rich.text import Text
            for host in sorted(stats.hosts_failed | stats.hosts_unreachable):
                state = 'unreachable' if host in stats.hosts_unreachable else 'failed'
                self.console.print(Text('host %s %s%s' % (printable(host), state, reason(stats, host))))


def reason(stats, host):
    """': task: message' of a host's failure, when the run saw one."""
    why = stats.reasons.get(host)
    return ' (%s)' % printable(why) if why else ''


def summary_line(stats):
    return ('hosts %d/%s reported, %d failed, %d unreachable; findings: %d critical, %d warning, %d info; %d changed'
            % (len(stats.hosts_seen), stats.hosts_total or '?', len(stats.hosts_failed), len(stats.hosts_unreachable),
               stats.findings.get('critical', 0), stats.findings.get('warning', 0), stats.findings.get('info', 0),
               stats.changed))
