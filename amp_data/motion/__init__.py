"""Motion analysis on arrays and banks: rotations, derived velocities and feet, foot contacts, gait cycles and
labels, cycle selection, feasibility figures for the Go2 and ranges of motion."""
