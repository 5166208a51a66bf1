"""The analyses: one module per question, and the statistical methods they share.

The questions (each the code behind one notebook or part of one):

- :mod:`helpers.analysis.workforce`: headcount, FTE, vacancy and how practices spread;
- :mod:`helpers.analysis.turnover`: exit rates, the Cox model of voluntary exit, the linked
  survey cohort; :mod:`helpers.analysis.switch`: the sites that left RVU production pay;
- :mod:`helpers.analysis.access`: how vacant clinician FTE moves waits and visits;
- :mod:`helpers.analysis.burnout`: burnout and intent to leave;
- :mod:`helpers.analysis.time_allocation`: how clinician minutes are spent;
- :mod:`helpers.analysis.encounters`: what work RVUs pay for;
- :mod:`helpers.analysis.cost`: the cost of clinician turnover;
- :mod:`helpers.analysis.bh_program`: a policy model of an integrated behavioral-health service.

The shared methods:

- :mod:`helpers.analysis.inference`: site-clustered inference and the minimum detectable effect;
- :mod:`helpers.analysis.survival`: Cox model and cumulative incidence with delayed entry;
- :mod:`helpers.analysis.rates`: intervals for rates and proportions;
- :mod:`helpers.analysis.evalue`: E-values;
- :mod:`helpers.analysis.power`: coverage and power of the primary findings on simulated
  organizations.

Importing this package imports none of them: ``from helpers.analysis import turnover`` loads
the one module named.
"""
