"""Views layer: what the notebooks call: snapshot access, plan sets, tables, fragments and figures."""
