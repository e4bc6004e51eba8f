"""Compare Chinese education work plans (教育局工作要点) across districts.

The pipeline is a DAG of small stages, one module each:
corpus → clean → structure → tokenize → themes → clusters → plots → report.
"""

__version__ = "0.1.0"
