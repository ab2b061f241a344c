"""Services, containers and sessions from the kernel's cgroup files (v2, and v1's cpuacct,
memory, blkio and pids controllers): which groups there are, what each one is called, what
each uses (CPU, memory, I/O, processes, and a container's network), read cheaply enough to
run every 2 s with hundreds of groups."""
