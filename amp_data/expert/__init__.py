"""Expert data for Adversarial Motion Priors: the AMP observation and the sampler of expert windows."""
