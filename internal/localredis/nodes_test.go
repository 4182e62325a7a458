package localredis

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseInfoField(t *testing.T) {
	text := "# Replication\r\nrole:slave\r\nmaster_link_status:up\r\n"
	v, ok := parseInfoField(text, "master_link_status")
	assert.True(t, ok)
	assert.Equal(t, "up", v)
	_, ok = parseInfoField(text, "cluster_state")
	assert.False(t, ok)
}
