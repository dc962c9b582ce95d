"""Scale on one machine: rebuild time with and without projection snapshots, idle animas' heartbeats."""
