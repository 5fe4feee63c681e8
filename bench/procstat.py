"""procstat.py - CPU and memory of a process tree, from /proc.

tree(root) lists root and every descendant (by PPid). cpu_ticks(root) sums
utime+stime+cutime+cstime over the tree: a child that exits and is reaped
moves its time into its parent's cutime/cstime, so the sum before and after
a run differs exactly by what the tree spent in between, exited children
included (as long as the root itself lives). memory(root) sums Rss and Pss
(kB) from /proc/PID/smaps_rollup over the tree.
"""
import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is state (field 3); ppid field 4, utime 14, stime 15, cutime 16, cstime 17.
    return int(rest[1]), sum(int(x) for x in rest[11:15])


def tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _stat(name)
        if st:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(root):
    total = 0
    for pid in tree(root):
        st = _stat(pid)
        if st:
            total += st[1]
    return total / CLK_TCK


def memory_kb(root):
    rss = pss = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


class CpuGroup:
    """A cgroup of our own for one server, when the machine offers one we can
    create: cgroup v1 cpuacct (cpuacct.usage, ns) or cgroup v2 (cpu.stat
    usage_usec). Its counter includes every process ever in the group, exited
    ones too, to the microsecond; /proc's ticks are 10 ms per process. The
    group is removed by remove() once its processes are gone."""

    V1 = "/sys/fs/cgroup/cpuacct"
    V2 = "/sys/fs/cgroup"

    def __init__(self, name):
        self.path = None
        for base, counter in ((self.V1, "cpuacct.usage"), (self.V2, "cpu.stat")):
            if not os.path.exists(os.path.join(base, counter)) and not os.path.exists(
                    os.path.join(base, "cgroup.controllers" if counter == "cpu.stat" else counter)):
                continue
            path = os.path.join(base, "pftls-bench", name)
            try:
                os.makedirs(path, exist_ok=True)
                if os.path.exists(os.path.join(path, counter)):
                    self.path, self.counter = path, counter
                    break
                os.rmdir(path)
            except OSError:
                continue

    def attach_self(self):
        """preexec_fn: move the child (and so all its descendants) into the group."""
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def cpu_seconds(self):
        if not self.path:
            return None
        with open(os.path.join(self.path, self.counter)) as f:
            text = f.read()
        if self.counter == "cpuacct.usage":
            return int(text) / 1e9
        for line in text.splitlines():
            if line.startswith("usage_usec"):
                return int(line.split()[1]) / 1e6
        return None

    def remove(self):
        if not self.path:
            return
        for _ in range(50):
            try:
                os.rmdir(self.path)
                break
            except OSError:
                time.sleep(0.1)
        try:
            os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass
