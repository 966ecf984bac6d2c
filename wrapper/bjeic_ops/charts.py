"""Charts as inline SVG markup: a report is one file that fetches nothing, so no chart library is loaded."""
from markupsafe import Markup, escape

SEVERITY_COLOURS = {'critical': '#c0392b', 'warning': '#e67e22', 'info': '#3498db'}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 900, 260, 48, 40, 16


def nice_top(value):
    top = 1
    while top < value:
        top = top * 5 // 2 if str(top)[0] == '2' else top * 2   # 1, 2, 5, 10, 20, 50 ...
    return top


def stacked_bars(title, categories, series, colours=None):
    """Vertical bars per category, stacked by series. series: [(name, label, [value per category])]."""
    colours = colours or SEVERITY_COLOURS
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    totals = [sum(values[i] for _n, _l, values in series) for i in range(len(categories))]
    top = nice_top(max(totals + [1]))
    slot = plot_w / max(len(categories), 1)
    bar = max(slot * 0.7, 1)
    parts = [_axis(top, plot_h)]
    for index, category in enumerate(categories):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_h
        for name, text, values in series:
            value = values[index]
            if not value:
                continue
            height = plot_h * value / top
            y -= height
            parts.append('<rect class="bar bar-%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">'
                         '<title>%s %s: %s</title></rect>' % (escape(name), x, y, bar, height, colours.get(name, '#888'),
                                                             escape(category), escape(text), value))
        if len(categories) <= 16 or index % max(len(categories) // 16, 1) == 0:
            parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                         % (LEFT + index * slot + slot / 2, TOP + plot_h + 14, escape(category)))
    legend = ''.join('<span class="legend"><i style="background:%s"></i>%s</span>' % (colours.get(n, '#888'), escape(t))
                     for n, t, _v in series)
    return _figure(title, parts, legend)


def horizontal_bars(title, items, unit='%', maximum=100.0, target=None):
    """One bar per item: [(label, value)]; `target` draws a dashed line (e.g. the compliance goal)."""
    row = 26
    height = TOP + row * max(len(items), 1) + 24
    label_w = 180
    plot_w = WIDTH - label_w - 70
    parts = []
    for index, (text, value) in enumerate(items):
        y = TOP + index * row
        width = plot_w * min(max(value or 0, 0), maximum) / maximum
        colour = '#27ae60' if target is None or (value or 0) >= target else '#c0392b'
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>' % (label_w - 6, y + 16, escape(text)))
        parts.append('<rect class="bar" x="%d" y="%d" width="%.1f" height="18" fill="%s"><title>%s: %s%s</title></rect>'
                     % (label_w, y + 3, width, colour, escape(text), value, unit))
        parts.append('<text x="%.1f" y="%d" font-size="12">%s%s</text>' % (label_w + width + 4, y + 16, value, unit))
    if target is not None:
        x = label_w + plot_w * target / maximum
        parts.append('<line class="target" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#555" stroke-dasharray="4 3"/>'
                     % (x, TOP - 4, x, TOP + row * max(len(items), 1)))
    return _figure(title, parts, '', height)


def _axis(top, plot_h):
    lines = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        lines.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (LEFT, y, WIDTH - 10, y))
        lines.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>' % (LEFT - 4, y + 3, _num(top * fraction)))
    return ''.join(lines)


def _num(value):
    return ('%d' % value) if float(value).is_integer() else ('%.1f' % value)


def _figure(title, parts, legend, height=HEIGHT):
    return Markup('<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 %d %d" '
                  'width="100%%" preserveAspectRatio="xMinYMin meet"><title>%s</title>%s</svg>'
                  '<figcaption>%s</figcaption></figure>'
                  % (WIDTH, height, escape(title), ''.join(parts), legend))
