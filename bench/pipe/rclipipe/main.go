// Command rclipipe runs rcli's pipe mode (pipeline.RunPipe) on its standard input, with
// the few flags the pipe benchmark needs. It stands in for `rcli --pipe` until the
// root command wires it, and prints redis-cli's lines like it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/pipeline"
	"github.com/rcli-dev/rcli/internal/pool"
)

func main() {
	host := flag.String("h", "127.0.0.1", "server host")
	port := flag.Int("p", 6379, "server port")
	clusterMode := flag.Bool("c", false, "cluster mode")
	conns := flag.Int("conns", 1, "connections per node")
	window := flag.Int("window", 0, "commands in flight per connection (0: default)")
	wait := flag.Int("wait", 0, "confirm writes with WAIT n")
	timeout := flag.Duration("pipe-timeout", pipeline.DefaultPipeTimeout, "pipe timeout")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cl, err := cluster.New(cluster.Options{
		Seeds:           []string{*host + ":" + strconv.Itoa(*port)},
		Cluster:         *clusterMode,
		Pool:            pool.Options{MaxActive: *conns + 4, ReadTimeout: time.Minute},
		RefreshInterval: refreshInterval(*clusterMode),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cl.Close()
	if *clusterMode {
		if err := cl.Refresh(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	var size int64
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	sum, err := pipeline.RunPipe(ctx, pipeline.PipeOptions{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Client: cl,
		Conns: *conns, Window: *window, Timeout: *timeout, Wait: *wait, InputSize: size,
	})
	if err != nil && !strings.Contains(err.Error(), "context canceled") {
		fmt.Fprintln(os.Stderr, err)
	}
	code := sum.ExitCode()
	pprof.StopCPUProfile()
	cl.Close()
	os.Exit(code)
}

func refreshInterval(clusterMode bool) time.Duration {
	if clusterMode {
		return 10 * time.Second
	}
	return 0
}
