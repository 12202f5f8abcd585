package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/storetest"
)

// BenchmarkIngest measures events/s committed to SQLite (WAL,
// synchronous=FULL) in batches of 20 (mosquitto's default in-flight
// window: what one commit sees under load) and 256 (the queue's batch).
func BenchmarkIngest(b *testing.B) {
	for _, batch := range []int{1, 20, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			st, err := store.OpenSQLite(filepath.Join(b.TempDir(), "station.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			seq := uint64(0)
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				msgs := make([]store.Message, 0, batch)
				for range batch {
					seq++
					msgs = append(msgs, storetest.Event(seq, "open", fmt.Sprintf("T%d", seq), 2))
				}
				if _, err := st.Ingest(context.Background(), msgs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
