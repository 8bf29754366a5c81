"""The motion bank file: its schema (`../SCHEMA.md`), reader and writer with their checks (`bank.py`), safe
output files (`atomic.py`) and merging banks (`merge.py`)."""
