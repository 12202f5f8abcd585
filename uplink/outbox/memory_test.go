package outbox_test

import (
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

func TestMemoryConformance(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) outbox.Outbox {
		m := outbox.NewMemory()
		t.Cleanup(func() {
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		})
		return m
	})
}

func TestMemoryUplinks(t *testing.T) {
	outboxtest.RunUplinks(t, func(t *testing.T, uplinks ...string) outbox.Outbox {
		m, err := outbox.NewMemoryUplinks(uplinks...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
