"""Stages layer: the compute nodes of the DAG, each writing its catalog tables to data/processed."""
