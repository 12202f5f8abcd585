package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// ErrNoDaemon says nothing answers on the socket: the file is missing, or
// stale (the daemon is not running).
var ErrNoDaemon = errors.New("no fenghuo daemon answers on the socket")

// Client reads the local API over a unix socket. Its zero value is not
// usable; make one with [NewClient]. It is safe for concurrent use.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the daemon serving socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Socket is the socket's path.
func (c *Client) Socket() string { return c.socket }

// Status reads /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var v Status
	return v, c.get(ctx, "/v1/status", &v)
}

// Devices reads /v1/devices.
func (c *Client) Devices(ctx context.Context) (Devices, error) {
	var v Devices
	return v, c.get(ctx, "/v1/devices", &v)
}

// Alarms reads /v1/alarms.
func (c *Client) Alarms(ctx context.Context) (Alarms, error) {
	var v Alarms
	return v, c.get(ctx, "/v1/alarms", &v)
}

// Queue reads /v1/queue; limit <= 0 takes the server's default.
func (c *Client) Queue(ctx context.Context, limit int) (Queue, error) {
	var v Queue
	path := "/v1/queue"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	return v, c.get(ctx, path, &v)
}

// Rules reads /v1/rules.
func (c *Client) Rules(ctx context.Context) (Rules, error) {
	var v Rules
	return v, c.get(ctx, "/v1/rules", &v)
}

// get fetches path into v. A socket nobody answers on gives an error
// wrapping ErrNoDaemon; one the user may not open wraps fs.ErrPermission.
func (c *Client) get(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodGet, path, v)
}

// do sends one request without a body and decodes the JSON answer into v.
func (c *Client) do(ctx context.Context, method, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://fenghuo"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s%s: %w", c.socket, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			return fmt.Errorf("daemon on %s: %s: %s", c.socket, path, eb.Error)
		}
		return fmt.Errorf("daemon on %s: %s: %s", c.socket, path, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("daemon on %s: %s: bad answer: %w", c.socket, path, err)
	}
	return nil
}

func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: %w", c.socket, fs.ErrPermission)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s: %w", c.socket, ErrNoDaemon)
	}
	return fmt.Errorf("%s: %w", c.socket, err)
}
