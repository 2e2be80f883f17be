"""Licence limits, budgets in Flow credits, and usage: ``gate`` (what services call before starting
work), ``rules`` and ``counters`` (the checks), ``book`` (the counters' seam: this process's, or
``shared`` by replicas on Redis, with ``keeper`` renewing their holds), ``quota`` (admission and
settlement), ``settler`` (settlements retried until written), ``ledger`` (usage written behind),
``rebuild`` (counters at start), ``report`` (usage reports). Import the modules themselves: this
package's ``__init__`` stays empty so that services importing ``gate`` do not import the rest
(which imports them).
"""
