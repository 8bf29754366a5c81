"""What `amp-data inspect` and `view` show: text reports, figures and drawings of banks."""
