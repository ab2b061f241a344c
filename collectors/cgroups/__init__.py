"""Services, containers and sessions from the kernel's cgroup files (v2, and v1's cpuacct,
memory, blkio and pids controllers): which groups there are and what each one is called."""
