package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSlot(t *testing.T) {
	cases := []struct {
		name, key string
		slot      int
	}{
		{"crc16 check value", "123456789", 0x31C3},
		{"foo", "foo", 12182},
		{"bar", "bar", 5061},
		{"empty key", "", 0},
		{"hash tag", "{user1000}.following", SlotString("user1000")},
		{"same tag other key", "{user1000}.followers", SlotString("user1000")},
		{"empty tag hashes the whole key", "foo{}{bar}", int(crc16([]byte("foo{}{bar}")) & 16383)},
		{"first open brace counts", "foo{{bar}}zap", SlotString("{bar")},
		{"first tag only", "foo{bar}{zap}", SlotString("bar")},
		{"unclosed brace", "foo{bar", int(crc16([]byte("foo{bar")) & 16383)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.slot, SlotString(c.key))
		})
	}
}

func FuzzSlot(f *testing.F) {
	for _, s := range []string{"", "foo", "{", "}", "{}", "a{b}c", "{{}}", "\xff{\x00}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		s := Slot(key)
		if s < 0 || s >= SlotCount {
			t.Fatalf("slot %d out of range", s)
		}
		tag := HashTag(key)
		if len(tag) == len(key) {
			return // no hash tag
		}
		if s != Slot(append([]byte("{"+string(tag)+"}"), 'x')) {
			t.Fatalf("key %q and its tag %q hash apart", key, tag)
		}
	})
}
