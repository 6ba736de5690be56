package loadgen

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU accounting for the load tool and the benchmarks, from Linux's /proc:
// what a process (the server, a PostgreSQL backend) spent, so figures on a
// shared, loaded machine compare by CPU per operation rather than by rate.

// clockTick is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// ProcessCPU is the user + system CPU time pid has used so far.
func ProcessCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process cpu: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing parenthesis.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("process cpu: unreadable /proc/%d/stat", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	// After the name: state is field 3, utime 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process cpu: short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("process cpu: unreadable /proc/%d/stat", pid)
	}
	return time.Duration(u+s) * clockTick, nil
}

// PeakRSS is the most resident memory pid has used (VmHWM), in bytes.
func PeakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak rss: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("peak rss: no VmHWM for %d", pid)
}

// SelfCPU is the user + system CPU time of this process.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BackendCPU reads the CPU time of each PostgreSQL backend serving db's
// database (only those whose application_name is the one db's connections
// carry, when sameApp), this reading connection included, from /proc on
// this machine (PostgreSQL on loopback). A pool's backends live as long as
// its connections: CPUDelta of two readings is what the database spent on
// the work between them.
func BackendCPU(ctx context.Context, db *sql.DB, sameApp bool) (map[int]time.Duration, error) {
	q := `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`
	if sameApp {
		q += ` AND application_name = current_setting('application_name')`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("backend cpu: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, fmt.Errorf("backend cpu: %w", err)
		}
		if d, err := ProcessCPU(pid); err == nil { // gone meanwhile: skip
			out[pid] = d
		}
	}
	return out, rows.Err()
}

// CPUDelta is the CPU the backends of after spent since before: a backend
// that is new counts whole; one that ended between the readings is not
// seen (its last moments are missed, never counted twice).
func CPUDelta(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		if t0, ok := before[pid]; ok && t0 <= t {
			d += t - t0
		} else if !ok {
			d += t
		}
	}
	return d
}
