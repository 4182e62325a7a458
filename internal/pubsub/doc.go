// Package pubsub keeps Redis pub/sub subscriptions alive over the cluster client.
//
// A Subscriber subscribes to channels (SUBSCRIBE), patterns (PSUBSCRIBE) and shard
// channels (SSUBSCRIBE). Channels and patterns go to the node the user named (any node
// of a cluster sees every PUBLISH). Shard channels are grouped by the master that owns
// their slot, with one connection per such master carrying one SSUBSCRIBE per slot, so
// that every shard channel is delivered however many shards the channels span.
//
// Each subscription connection is read by one goroutine and written only while it is
// opened, so each Subscribe call that adds subscriptions opens connections of its own
// (one for channels or patterns, one per master for shard channels); Unsubscribe stops
// delivery at once and closes a connection left with nothing to deliver. When
// subscriptions are restored, all those lost together are made again together, one
// connection per node.
//
// Subscriptions are restored on their own: when a subscription connection breaks (the
// node died, a health probe timed out, the server closed it) the topology is
// refreshed and the subscriptions are made again, at the slot's new master for shard
// channels; when the server drops shard channels because their slot moved (it pushes
// "sunsubscribe" on a migration or a failover), they are subscribed again at the new
// owner. Pub/sub delivers at most once: messages published while a subscription was
// down are lost, and every such gap is reported as an Event (Lost or Moved, then
// Restored with the gap's length).
//
// Both protocols are handled: RESP2 arrays and RESP3 pushes. Confirmations are
// returned by Subscribe and Unsubscribe in the order of their arguments, with the
// subscription counts a client on a single connection would see; messages arrive on
// Messages, each with the value the server sent, ready for the CLI's formatter.
//
// The package knows nothing of terminals or output formats, and gets its connections
// from internal/cluster (Acquire and Release), which routes PUBLISH and SPUBLISH.
package pubsub
