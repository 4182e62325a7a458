package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rcli-dev/rcli/internal/clustermgr"
	"github.com/rcli-dev/rcli/internal/localredis"
)

// demoStartTimeout bounds starting the servers, building the cluster and waiting for it
// to be healthy.
const demoStartTimeout = 2 * time.Minute

// newCmdDemo returns `rcli demo`.
func newCmdDemo(a *app) *cobra.Command {
	var masters, replicas int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "start a throwaway local 3-master/3-replica cluster and open rcli on it",
		Long: `demo starts redis-server processes (redis-server from $PATH, or $RCLI_REDIS_SERVER)
on free loopback ports in a new temporary directory, joins them into a cluster with
rcli's own --cluster create, waits until every node is healthy and every replica in
sync, and opens the rcli shell on it in cluster mode (-c); when stdin is not a
terminal, its lines are run instead. When the shell exits (quit, Ctrl-D, Ctrl-C at
the prompt) or the input ends, or on Ctrl-C or SIGTERM, every server is stopped, by
its PID, and the directory is removed.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDemo(c.Context(), a, masters, replicas) },
	}
	cmd.Flags().IntVar(&masters, "masters", 3, "masters (at least 3)")
	cmd.Flags().IntVar(&replicas, "replicas", 1, "replicas per master")
	return cmd
}

// runDemo starts the cluster, runs the shell (or stdin's lines) on it and tears
// everything down, also when ctx ends (Ctrl-C outside the shell, SIGTERM) at any point.
func runDemo(ctx context.Context, a *app, masters, replicas int) (err error) {
	if masters < 3 || replicas < 0 {
		return fmt.Errorf("demo: want at least 3 masters and no negative replica count")
	}
	dir, err := os.MkdirTemp("", "rcli-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = fmt.Errorf("demo: remove %s: %w", dir, rmErr)
		}
		fmt.Fprintf(a.io.Err, "Stopped the demo cluster and removed %s\n", dir)
	}()
	n := masters * (1 + replicas)
	fmt.Fprintf(a.io.Err, "Starting %d redis-server processes in %s\n", n, dir)
	startCtx, cancel := context.WithTimeout(ctx, demoStartTimeout)
	defer cancel()
	c, err := localredis.StartNodes(startCtx, localredis.ClusterOptions{
		Options:           localredis.Options{Dir: dir},
		Masters:           masters,
		ReplicasPerMaster: replicas,
	})
	if err != nil {
		if errors.Is(err, localredis.ErrNoBinary) {
			return fmt.Errorf("demo: %w (scripts/ensure-redis installs it)", err)
		}
		return fmt.Errorf("demo: %w", err)
	}
	defer func() {
		if stopErr := c.Stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("demo: stop servers: %w", stopErr)
		}
	}()

	// Build the cluster with rcli's own cluster manager, as `rcli --cluster create`.
	cl, err := a.managerClient()
	if err != nil {
		return err
	}
	mo := a.managerOptions()
	mo.Replicas, mo.Yes = replicas, true
	m := clustermgr.New(cl, mo, clustermgr.Streams{In: a.io.In, Out: a.io.Out, Err: a.io.Err, Progress: a.progressOut()})
	code, runErr := m.Run(startCtx, "create", c.Addrs())
	cl.Close()
	switch {
	case runErr != nil:
		return fmt.Errorf("demo: create the cluster: %w", runErr)
	case code != 0:
		return fmt.Errorf("demo: rcli --cluster create failed")
	}
	if err := c.WaitHealthy(startCtx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	seed := c.Nodes[0]
	ports := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		ports[i] = strconv.Itoa(s.Port)
	}
	fmt.Fprintf(a.io.Err, "\nThe cluster is ready: %d masters, %d replicas on 127.0.0.1, ports %s. From another terminal:\n  rcli -c -p %d\n\n",
		masters, masters*replicas, strings.Join(ports, " "), seed.Port)

	// rcli in cluster mode on the first node, with the other options of the command line.
	o := *a.opts
	o.host, o.port, o.socket, o.cluster = "127.0.0.1", seed.Port, "", true
	o.command = nil
	session := newApp(&o, a.io)
	defer session.close()
	if a.io.InTTY {
		// The shell handles Ctrl-C itself (it cancels the running command, or leaves at
		// the prompt); the cluster goes when the shell does.
		return session.shell(ctx)
	}
	done := make(chan error, 1)
	go func() { done <- session.lines(ctx) }()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		fmt.Fprintln(a.io.Err)
		return ctx.Err()
	}
}
