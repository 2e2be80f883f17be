"""Licence limits, budgets in Flow credits, and usage: ``gate`` (what services call before starting
work), ``rules`` and ``counters`` (the checks), ``quota`` (admission and settlement), ``ledger``
(usage written behind), ``rebuild`` (counters at start), ``report`` (usage reports). Import the
modules themselves: this package's ``__init__`` stays empty so that services importing ``gate``
do not import the rest (which imports them).
"""
