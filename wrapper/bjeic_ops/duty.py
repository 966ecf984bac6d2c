"""Special-period watches (特殊时期安全值守) as runs see them: the watch that is on, and what a duty run gets."""
import os

DUTY_PLAYBOOK = 'special_duty.yml'


def open_watch(store):
    """The watch that is on, or None."""
    return next((w for w in store.watches() if w['stopped_at'] is None), None)


def run_vars(store, playbook, extravars):
    """A run of special_duty.yml during a watch compares with that watch's own baseline: its id goes in as
    special_duty_watch (unless the operator gave one)."""
    if os.path.basename(playbook) != DUTY_PLAYBOOK:
        return extravars
    watch = open_watch(store)
    if watch:
        extravars = dict(extravars)
        extravars.setdefault('special_duty_watch', str(watch['id']))
    return extravars
