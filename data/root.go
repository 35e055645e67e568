package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvRoot is the environment variable naming the data root.
const EnvRoot = "FOVEA_DATA"

// ResolveRoot picks the data root: flagValue if non-empty, else $FOVEA_DATA if
// non-empty, else os.UserCacheDir()/fovea. It does not create the directory.
func ResolveRoot(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Clean(flagValue), nil
	}
	if env := os.Getenv(EnvRoot); env != "" {
		return filepath.Clean(env), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("data: no -data flag, $%s unset, and no user cache dir: %w", EnvRoot, err)
	}
	return filepath.Join(cache, "fovea"), nil
}
