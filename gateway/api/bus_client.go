package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Read asks the daemon's bus owner for a read (/v1/bus/read). It waits as
// long as ctx allows: the read queues behind the polls.
func (c *Client) Read(ctx context.Context, req ReadRequest) (ReadResult, error) {
	q := url.Values{}
	if req.Device != "" {
		q.Set("device", req.Device)
		if req.Point != "" {
			q.Set("point", req.Point)
		}
	} else {
		q.Set("bus", req.Bus)
		for k, v := range map[string]int{"slave": req.Slave, "fc": req.FC, "addr": req.Addr, "count": req.Count} {
			q.Set(k, strconv.Itoa(v))
		}
	}
	var res ReadResult
	err := c.stream(ctx, "/v1/bus/read?"+q.Encode(), func(body io.Reader) error {
		return json.NewDecoder(body).Decode(&res)
	})
	return res, err
}

// Scan runs a scan of req.From..req.To on the daemon's bus (/v1/bus/scan),
// calling onEvent for each progress and found event, and returns the
// result. It takes as long as the scan: give ctx no short deadline.
func (c *Client) Scan(ctx context.Context, req ScanRequest, onEvent func(StreamEvent)) (ScanResult, error) {
	q := url.Values{"bus": {req.Bus}, "from": {strconv.Itoa(req.From)}, "to": {strconv.Itoa(req.To)}}
	var res *ScanResult
	err := c.events(ctx, "/v1/bus/scan?"+q.Encode(), func(ev StreamEvent) {
		if ev.Type == "result" && ev.Result != nil {
			res = ev.Result
		}
		onEvent(ev)
	})
	if err == nil && res == nil {
		err = fmt.Errorf("daemon on %s: the scan ended without a result", c.socket)
	}
	if err != nil {
		return ScanResult{}, err
	}
	return *res, nil
}

// Trace follows the frames on the daemon's bus for d (/v1/bus/trace),
// calling onFrame for each.
func (c *Client) Trace(ctx context.Context, bus string, d time.Duration, onFrame func(TraceFrame)) error {
	q := url.Values{"bus": {bus}, "seconds": {strconv.FormatFloat(d.Seconds(), 'f', -1, 64)}}
	return c.events(ctx, "/v1/bus/trace?"+q.Encode(), func(ev StreamEvent) {
		if ev.Type == "frame" && ev.Frame != nil {
			onFrame(*ev.Frame)
		}
	})
}

// events reads a newline-delimited stream of StreamEvents; an "error"
// event ends it with that error.
func (c *Client) events(ctx context.Context, path string, on func(StreamEvent)) error {
	return c.stream(ctx, path, func(body io.Reader) error {
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var ev StreamEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				return fmt.Errorf("daemon on %s: %s: bad line %q: %w", c.socket, path, sc.Bytes(), err)
			}
			if ev.Type == "error" {
				return fmt.Errorf("daemon on %s: %s", c.socket, ev.Error)
			}
			on(ev)
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("daemon on %s: %s: %w", c.socket, path, err)
		}
		return nil
	})
}

// stream GETs path with no client timeout (bus work waits behind polls
// and scans take minutes; ctx bounds it) and hands the body of a 200 to
// read. A 400 is a *RejectedError with the daemon's message.
func (c *Client) stream(ctx context.Context, path string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://fenghuo"+path, nil)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: c.hc.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.dialError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // the status says enough if this fails
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = resp.Status
		}
		if resp.StatusCode == http.StatusBadRequest {
			return &RejectedError{Msg: eb.Error}
		}
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("daemon on %s: %s: %s (a daemon older than this command?)", c.socket, path, eb.Error)
		}
		return fmt.Errorf("daemon on %s: %s", c.socket, eb.Error)
	}
	return read(resp.Body)
}
