package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/clustermgr"
	"github.com/rcli-dev/rcli/internal/format"
	"github.com/rcli-dev/rcli/internal/resp"
)

// clusterManager runs `rcli --cluster <subcommand>` and returns the exit code.
func (a *app) clusterManager(ctx context.Context) int {
	t := &a.opts.tools
	cl, err := a.managerClient()
	if err != nil {
		fmt.Fprintln(a.io.Err, a.errorText(err))
		return 1
	}
	defer cl.Close()
	m := clustermgr.New(cl, a.managerOptions(), clustermgr.Streams{
		In: a.io.In, Out: a.io.Out, Err: a.io.Err, Progress: a.progressOut(),
	})
	code, err := m.Run(ctx, t.clusterCmd, t.clusterArgs)
	switch {
	case errors.Is(err, clustermgr.ErrUnsupported):
		fmt.Fprintf(a.io.Err, "rcli: --cluster %s is not supported yet\n", t.clusterCmd)
		return 1
	case err != nil && ctx.Err() != nil:
		return exitInterrupted
	}
	return code
}

// managerClient returns a client for the cluster manager: the command line's
// connection settings (auth, TLS, timeouts), reaching each node by the address the
// manager names, with no slot cache and no replica reads.
func (a *app) managerClient() (*cluster.Client, error) {
	co, err := a.clusterOptions()
	if err != nil {
		return nil, err
	}
	co.Cluster = true
	co.ReadFrom = cluster.ReadMaster
	co.SlotCacheDir = ""
	co.RefreshInterval = 0
	return cluster.New(co)
}

// managerOptions turns the --cluster-* flags into the manager's options.
func (a *app) managerOptions() clustermgr.Options {
	c := a.opts.tools.cluster
	o := clustermgr.Options{
		Replicas:                  c.replicas,
		Yes:                       c.yes || a.io.Getenv("REDISCLI_CLUSTER_YES") == "1",
		From:                      c.from,
		To:                        c.to,
		Slots:                     c.slots,
		Timeout:                   c.timeout,
		Pipeline:                  c.pipeline,
		Replace:                   c.replace,
		Weights:                   c.weights,
		UseEmptyMasters:           c.useEmptyMasters,
		Threshold:                 -1,
		Simulate:                  c.simulate,
		Slave:                     c.slave,
		MasterID:                  c.masterID,
		OnlyMasters:               c.onlyMasters,
		OnlyReplicas:              c.onlyReplicas,
		SearchMultipleOwners:      c.searchMultipleOwners,
		FixWithUnreachableMasters: c.fixUnreachable,
		Verbose:                   a.opts.verbose,
		JSON:                      a.opts.output == modeJSON || a.opts.output == modeQuotedJSON,
		Color:                     a.termColor(),
		FormatRaw: func(v resp.Value) string {
			return string(format.Append(nil, v, format.Options{Mode: format.Raw, FieldSep: "\n"}))
		},
		FormatJSON: func(v resp.Value) string {
			return strings.TrimSuffix(string(format.Append(nil, v, format.Options{Mode: format.JSON})), "\n")
		},
	}
	if c.thresholdSet {
		o.Threshold = c.threshold
	}
	if a.opts.hasPassword {
		o.User, o.Password = a.opts.user, a.opts.password
	}
	return o
}
