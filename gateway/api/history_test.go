package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// /v1/history passes the query through; /v1/test-alarm answers 404 for an
// unknown device with the handler's message; bad queries are 400.
func TestHistoryAndTestAlarm(t *testing.T) {
	path := sockPath(t)
	var got HistoryQuery
	h := Handlers{
		History: func(_ context.Context, q HistoryQuery) (History, error) {
			got = q
			return History{Now: at, Since: q.Since, Records: []HistoryRecord{{Seq: 7, State: "open", LabelZh: "烟感火警"}}}, nil
		},
		TestAlarm: func(_ context.Context, dev string) (TestAlarm, error) {
			if dev != "smoke-1" {
				return TestAlarm{}, fmt.Errorf("%w: no device %q", ErrNotFound, dev)
			}
			return TestAlarm{Device: dev, Seq: 8, TicketID: "gw-1/smoke-1/R1/test-x"}, nil
		},
	}
	s, err := Listen(path, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := NewClient(path)
	ctx := t.Context()

	q := HistoryQuery{Since: at.Add(-time.Hour), Until: at, TicketID: "gw-1/smoke-1/R1/x", Limit: 999}
	hist, err := c.History(ctx, q)
	if err != nil || len(hist.Records) != 1 || hist.Records[0].LabelZh != "烟感火警" || !hist.Since.Equal(q.Since) {
		t.Fatalf("History: %+v, %v", hist, err)
	}
	if !got.Since.Equal(q.Since) || !got.Until.Equal(q.Until) || got.TicketID != q.TicketID || got.Limit != 999 {
		t.Errorf("the handler got %+v, want %+v", got, q)
	}

	ta, err := c.TestAlarm(ctx, "smoke-1")
	if err != nil || ta.Seq != 8 {
		t.Errorf("TestAlarm: %+v, %v", ta, err)
	}
	if _, err := c.TestAlarm(ctx, "nope"); err == nil || !strings.Contains(err.Error(), `test-alarm: not found: no device "nope"`) {
		t.Errorf("TestAlarm of an unknown device: %v", err)
	}

	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v1/history?since=yesterday", `since \"yesterday\": want an RFC 3339 time`},
		{"GET", "/v1/history?limit=0", `limit \"0\": want a positive integer`},
		{"POST", "/v1/test-alarm", "device is required"},
		{"GET", "/v1/test-alarm?device=smoke-1", ""}, // a test alarm is never a GET
	} {
		req, _ := http.NewRequestWithContext(ctx, tc.method, "http://fenghuo"+tc.path, nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		resp.Body.Close()
		wantCode := http.StatusBadRequest
		if tc.want == "" {
			wantCode = http.StatusMethodNotAllowed
		}
		if resp.StatusCode != wantCode || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s %s: %d %s; want %d and %q", tc.method, tc.path, resp.StatusCode, b.String(), wantCode, tc.want)
		}
	}
}
