"""Other projects' motion files (AMP_for_hardware, motion_imitation) to and from banks."""
