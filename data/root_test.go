package data

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestResolveRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cache-dir case assumes XDG_CACHE_HOME is honoured (Linux)")
	}
	cases := []struct {
		name, flag, env, want string
	}{
		{"flag wins", "/flag/dir", "/env/dir", "/flag/dir"},
		{"flag cleaned", "/flag//dir/", "", "/flag/dir"},
		{"env", "", "/env/dir", "/env/dir"},
		{"cache", "", "", "/xdg/cache/fovea"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvRoot, tc.env)
			t.Setenv("XDG_CACHE_HOME", "/xdg/cache")
			got, err := ResolveRoot(tc.flag)
			if err != nil || got != filepath.FromSlash(tc.want) {
				t.Errorf("ResolveRoot(%q) with env %q = %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
			}
		})
	}
	t.Run("no cache dir", func(t *testing.T) {
		t.Setenv(EnvRoot, "")
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "")
		os.Unsetenv("HOME")
		if _, err := ResolveRoot(""); err == nil {
			t.Error("no error without HOME or XDG_CACHE_HOME")
		}
	})
}
