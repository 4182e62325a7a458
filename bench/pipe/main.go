// Command pipe compares rcli's pipe mode with redis-cli --pipe and with a go-redis
// pipelined cluster load (issue 6).
//
// Against a fresh single server it loads the same N SET commands with redis-cli --pipe
// and with rcli's pipe mode on one connection and on several, in alternating runs, for
// RESP input and for inline input, and prints each one's throughput (the median run),
// rcli's ratio to redis-cli and rcli's peak RSS. With -big it also loads 10 x N commands
// to show that rcli's memory does not grow with its input. Against a fresh 3-master
// cluster it loads the same keys with rcli -c and with a go-redis ClusterClient
// pipelining batches of 1,000, and checks that every key arrived (DBSIZE summed).
//
// rcli runs as the real `rcli --pipe`, built from the main module; -rcli names a
// prebuilt binary instead.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rcli-dev/rcli/internal/localredis"
)

func main() {
	n := flag.Int("n", 1_000_000, "SET commands per load")
	runs := flag.Int("runs", 3, "alternating runs of each tool per input format")
	conns := flag.Int("conns", 4, "connections per node for rcli's several-connection runs")
	big := flag.Bool("big", false, "also load 10 x n commands to show rcli's peak RSS stays flat")
	clusterToo := flag.Bool("cluster", true, "also run the 3-master cluster comparison")
	rcliBin := flag.String("rcli", "", "a prebuilt rcli binary (default: build ../cmd/rcli)")
	flag.Parse()
	if err := run(*n, *runs, *conns, *big, *clusterToo, *rcliBin); err != nil {
		fmt.Fprintln(os.Stderr, "pipe:", err)
		os.Exit(1)
	}
}

func run(n, runs, conns int, big, clusterToo bool, rcliBin string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rcli-bench-pipe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if rcliBin == "" {
		rcliBin = filepath.Join(dir, "rcli")
		// Built in the main module (run from bench/), which has rcli's dependencies.
		build := exec.Command("go", "build", "-o", rcliBin, "./cmd/rcli")
		build.Dir = ".."
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build rcli: %w", err)
		}
	}
	redisCLI, err := exec.LookPath("redis-cli")
	if err != nil {
		return err
	}
	files := map[string]string{"RESP": filepath.Join(dir, "sets.resp"), "inline": filepath.Join(dir, "sets.txt")}
	if err := writeInput(files["RESP"], n, true); err != nil {
		return err
	}
	if err := writeInput(files["inline"], n, false); err != nil {
		return err
	}

	sdir := filepath.Join(dir, "single")
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return err
	}
	single, err := localredis.Start(ctx, localredis.Options{Dir: sdir})
	if err != nil {
		return err
	}
	defer single.Stop()
	host, port := "127.0.0.1", strconv.Itoa(single.Port)

	fmt.Printf("rcli pipe mode against redis-cli --pipe: %d SET commands into one server (median of %d alternating runs)\n", n, runs)
	var singleRate float64
	for _, format := range []string{"RESP", "inline"} {
		tools := []tool{
			{name: "redis-cli --pipe", argv: []string{redisCLI, "-h", host, "-p", port, "--pipe"}},
			{name: "rcli --pipe", argv: []string{rcliBin, "-h", host, "-p", port, "--pipe"}, rcli: true},
			{name: fmt.Sprintf("rcli --pipe, %d conns", conns), argv: []string{rcliBin, "-h", host, "-p", port, "--pipe", "--pipe-conns", strconv.Itoa(conns)}, rcli: true},
		}
		results := make([][]result, len(tools))
		for range runs {
			for i, t := range tools {
				if _, err := single.Do(ctx, "FLUSHALL"); err != nil {
					return err
				}
				r, err := t.load(files[format])
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				if err := expectKeys(ctx, []*localredis.Server{single}, n); err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				results[i] = append(results[i], r)
			}
		}
		fmt.Printf("\n%s input:\n", format)
		base := median(results[0]).rate(n)
		for i, t := range tools {
			m := median(results[i])
			line := fmt.Sprintf("  %-24s %6.2f s %10s SET/s", t.name, m.wall.Seconds(), group(int64(m.rate(n))))
			if i > 0 {
				line += fmt.Sprintf("  %.2fx redis-cli  peak RSS %s", m.rate(n)/base, mib(maxRSS(results[i])))
			}
			fmt.Println(line)
		}
		if format == "RESP" {
			singleRate = median(results[2]).rate(n)
		}
	}

	if big {
		fmt.Printf("\nrcli's peak RSS as the input grows (RESP from a pipe, %d conns):\n", conns)
		for _, count := range []int{n, 10 * n} {
			if _, err := single.Do(ctx, "FLUSHALL"); err != nil {
				return err
			}
			t := tool{name: "rcli", argv: []string{rcliBin, "-h", host, "-p", port, "--pipe", "--pipe-conns", strconv.Itoa(conns)}, rcli: true}
			r, err := t.loadGenerated(count)
			if err != nil {
				return err
			}
			fmt.Printf("  %11s commands  %6.2f s %10s SET/s  peak RSS %s\n", group(int64(count)), r.wall.Seconds(), group(int64(r.rate(count))), mib(r.rss))
		}
	}

	if clusterToo {
		if err := clusterLoad(ctx, dir, files["RESP"], n, conns, rcliBin, singleRate); err != nil {
			return err
		}
	}
	return nil
}

// tool is one way of loading the input.
type tool struct {
	name string
	argv []string
	rcli bool // prints rcli's outcome line, which must show no failure
}

// result is one timed load.
type result struct {
	wall time.Duration
	rss  int64 // peak resident set, bytes
}

func (r result) rate(n int) float64 { return float64(n) / r.wall.Seconds() }

// load runs the tool with the file on its standard input.
func (t tool) load(file string) (result, error) {
	f, err := os.Open(file)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	return t.exec(f, nil)
}

// loadGenerated runs the tool with count RESP SETs written to its standard input.
func (t tool) loadGenerated(count int) (result, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(generate(pw, count, true))
	}()
	return t.exec(pr, pr)
}

func (t tool) exec(in io.Reader, closer io.Closer) (result, error) {
	cmd := exec.Command(t.argv[0], t.argv[1:]...)
	cmd.Stdin = in
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if closer != nil {
		closer.Close()
	}
	if err != nil {
		return result{}, fmt.Errorf("%v: %s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "errors: 0,") {
		return result{}, fmt.Errorf("errors reported: %s", out.String())
	}
	r := result{wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rss = ru.Maxrss * 1024
	}
	return r, nil
}

// writeInput writes n SET commands, RESP or inline, to a file.
func writeInput(path string, n int, respFormat bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := generate(f, n, respFormat); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// generate writes n SET commands: SET key:i i.
func generate(w io.Writer, n int, respFormat bool) error {
	buf := make([]byte, 0, 1<<20)
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		v := strconv.Itoa(i)
		if respFormat {
			buf = fmt.Appendf(buf, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
		} else {
			buf = fmt.Appendf(buf, "SET %s %s\n", k, v)
		}
		if len(buf) > 1<<20-128 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// expectKeys checks that the servers hold n keys between them.
func expectKeys(ctx context.Context, servers []*localredis.Server, n int) error {
	var total int64
	for _, s := range servers {
		v, err := s.Do(ctx, "DBSIZE")
		if err != nil {
			return err
		}
		total += v.Int
	}
	if total != int64(n) {
		return fmt.Errorf("DBSIZE summed is %d, want %d", total, n)
	}
	return nil
}

// clusterLoad loads the same keys into a 3-master cluster with rcli -c and with a
// go-redis ClusterClient pipelining batches of 1,000.
func clusterLoad(ctx context.Context, dir, file string, n, conns int, rcliBin string, singleRate float64) error {
	c, err := localredis.StartCluster(ctx, localredis.ClusterOptions{
		Options: localredis.Options{Dir: filepath.Join(dir, "cluster")}, Masters: 3,
	})
	if err != nil {
		return err
	}
	defer c.Stop()
	seed := c.Masters()[0]
	flush := func() error {
		for _, m := range c.Masters() {
			if _, err := m.Do(ctx, "FLUSHALL"); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Printf("\n%d SET commands into a 3-master cluster (RESP input for rcli):\n", n)
	var rcliRate float64
	for _, k := range []int{1, conns} {
		if err := flush(); err != nil {
			return err
		}
		t := tool{name: "rcli -c", argv: []string{rcliBin, "-c", "-h", "127.0.0.1", "-p", strconv.Itoa(seed.Port), "--pipe", "--pipe-conns", strconv.Itoa(k)}, rcli: true}
		r, err := t.load(file)
		if err != nil {
			return fmt.Errorf("rcli -c: %w", err)
		}
		if err := expectKeys(ctx, c.Masters(), n); err != nil {
			return fmt.Errorf("rcli -c: %w", err)
		}
		rcliRate = max(rcliRate, r.rate(n))
		fmt.Printf("  %-30s %6.2f s %10s SET/s  peak RSS %s\n", fmt.Sprintf("rcli --pipe -c, %d conns/node", k), r.wall.Seconds(), group(int64(r.rate(n))), mib(r.rss))
	}
	if err := flush(); err != nil {
		return err
	}
	gr := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer gr.Close()
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		p := gr.Pipeline()
		for j := i; j < min(i+1000, n); j++ {
			p.Set(ctx, "key:"+strconv.Itoa(j), strconv.Itoa(j), 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			return fmt.Errorf("go-redis: %w", err)
		}
	}
	wall := time.Since(start)
	if err := expectKeys(ctx, c.Masters(), n); err != nil {
		return fmt.Errorf("go-redis: %w", err)
	}
	grRate := float64(n) / wall.Seconds()
	fmt.Printf("  %-30s %6.2f s %10s SET/s\n", "go-redis pipelines of 1,000", wall.Seconds(), group(int64(grRate)))
	fmt.Printf("  rcli -c (best): %.2fx go-redis, %.2fx rcli on one server (%s SET/s)\n",
		rcliRate/grRate, rcliRate/singleRate, group(int64(singleRate)))
	return nil
}

func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return int(a.wall - b.wall) })
	return s[len(s)/2]
}

func maxRSS(rs []result) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.rss)
	}
	return m
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// group renders n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
