"""Alert handling after the rules: route, group, mute (silences, inhibition, time
intervals), notify.

Shaped like Alertmanager: ``dispatch`` turns incoming alerts into aggregation groups along
the route tree and flushes them on their timers; ``notify`` turns a flush into one durable
outbox entry per integration and delivers it with retries, recording each delivery in the
notification log (nflog) so nothing is sent twice across restarts.
"""
