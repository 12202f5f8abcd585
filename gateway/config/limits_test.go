package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHugeSiteName: a site.name of megabytes (the issue had 10 MB) is refused with its
// size, not echoed back; so is the same value from the environment.
func TestHugeSiteName(t *testing.T) {
	huge := strings.Repeat("云", 1<<20/3) // 1 MiB keeps the test fast under -race; the check is the same at 10
	cfg := strings.Replace(minimal, "name: 云村文化礼堂", "name: "+huge, 1)
	_, err := Parse([]byte(cfg))
	got := problemText(err)
	if got != "gateway.site.name: is 1048575 bytes long; at most 256\n" {
		t.Errorf("1 MiB site name: %.300q", got)
	}
	t.Setenv("FENGHUO_GATEWAY_SITE_ADDRESS", strings.Repeat("x", 1000))
	_, err = Parse([]byte(minimal))
	if got := problemText(err); !strings.Contains(got, "gateway.site.address: is 1000 bytes long; at most 256") || len(got) > 300 {
		t.Errorf("1000-byte address from the environment: %.300q", got)
	}
}

func TestConfigFileSizeBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	data := []byte(minimal + "# " + strings.Repeat("x", MaxFileBytes) + "\n")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("Load of a %d-byte file: %v", len(data), err)
	}
}

func TestStringLimits(t *testing.T) {
	for path, want := range map[string]int{
		"gateway.site.name": MaxStringBytes, "devices[3].location": MaxStringBytes, "rules[0].devices[2]": MaxStringBytes,
		"buffer.path": MaxPathBytes, "uplink.mqtt.ca_file": MaxPathBytes, "uplink.cmd_key_file": MaxPathBytes, "buses[0].port": MaxPathBytes,
		"uplink.mqtt.broker": MaxURLBytes, "uplink.mqtt.password": MaxSecretBytes, "local.socket": MaxPathBytes,
	} {
		if got := stringLimit(path); got != want {
			t.Errorf("stringLimit(%s) = %d, want %d", path, got, want)
		}
	}
}
