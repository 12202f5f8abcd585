package mqttlink

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func publishPacket(t *testing.T, topic string, qos byte, id uint16, payload []byte) []byte {
	t.Helper()
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Qos, p.MessageID, p.Payload = topic, qos, id, payload
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pipeConn serves a fixed byte stream as a net.Conn.
type pipeConn struct {
	net.Conn
	r io.Reader
}

func (p pipeConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestSizeConn: paho reads every packet as sent, except a PUBLISH over the
// limit, which arrives with its topic, id and flags and an empty payload,
// reported to cut with its size; a control packet over maxControl and a
// malformed length end the connection.
func TestSizeConn(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 5000)
	var stream bytes.Buffer
	stream.Write(publishPacket(t, "a/cmd", 1, 7, []byte(`{"id":"1"}`)))
	stream.Write(publishPacket(t, "a/cmd", 1, 8, big))
	stream.Write([]byte{0xd0, 0x00}) // PINGRESP
	stream.Write(publishPacket(t, "a/cmd", 0, 0, big))
	stream.Write(publishPacket(t, "a/cmd", 1, 9, []byte("small")))
	var cuts []cutNote
	c := newSizeConn(pipeConn{r: &stream}, 4096, func(topic string, id uint16, size int64) { cuts = append(cuts, cutNote{topic, id, size}) })
	want := []string{"a/cmd 7 1 {\"id\":\"1\"}", "a/cmd 8 1 ", "pingresp", "a/cmd 0 0 ", "a/cmd 9 1 small"}
	for i, w := range want {
		cp, err := packets.ReadPacket(c)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		got := "pingresp"
		if p, ok := cp.(*packets.PublishPacket); ok {
			got = fmt.Sprintf("%s %d %d %s", p.TopicName, p.MessageID, p.Qos, p.Payload)
		}
		if got != w {
			t.Errorf("packet %d: %q, want %q", i, got, w)
		}
	}
	if _, err := packets.ReadPacket(c); err != io.EOF {
		t.Errorf("after the stream: %v, want EOF", err)
	}
	if len(cuts) != 2 || cuts[0] != (cutNote{"a/cmd", 8, 5000}) || cuts[1] != (cutNote{"a/cmd", 0, 5000}) {
		t.Errorf("cuts %+v", cuts)
	}

	for name, in := range map[string][]byte{
		"huge SUBACK":    append([]byte{0x90}, appendHeader(nil, 0, maxControl+1)[1:]...),
		"5-byte length":  {0x30, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"topic too long": {0x30, 0x03, 0x00, 0x09, 'a'},
	} {
		c := newSizeConn(pipeConn{r: bytes.NewReader(in)}, 4096, func(string, uint16, int64) {})
		_, err := packets.ReadPacket(c)
		if err == nil || !strings.Contains(err.Error(), "mqttlink:") {
			t.Errorf("%s: %v, want a mqttlink error", name, err)
		}
	}
}
