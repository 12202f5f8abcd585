package outbox_test

import (
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

func TestMemoryHistory(t *testing.T) {
	outboxtest.RunHistory(t, func(t *testing.T) outbox.Outbox { return outbox.NewMemory() })
}
