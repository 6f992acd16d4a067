package image

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/railsecs/deploykit/mage/awsfake"
	"github.com/railsecs/deploykit/mage/internal/testaws"
)

// TestECRLogin exchanges credentials for a registry login on moto_server
// and on our double, and checks the secret stays out of strings and goes
// to a 0600 file.
func TestECRLogin(t *testing.T) {
	fake := httptest.NewServer(awsfake.New())
	defer fake.Close()
	for name, endpoint := range map[string]string{"moto": testaws.Moto(t), "double": fake.URL} {
		t.Run(name, func(t *testing.T) {
			client := ecr.NewFromConfig(testaws.Config(endpoint))
			host := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
			creds, err := ECRLogin(context.Background(), client, host)
			if err != nil {
				t.Fatal(err)
			}
			if creds.Username != "AWS" || creds.Password == "" {
				t.Fatalf("login = %s", creds)
			}
			if strings.Contains(creds.String(), creds.Password) || strings.Contains(fmt.Sprintf("%v %+v", creds, creds), creds.Password) {
				t.Error("the password shows in the credentials' string form")
			}
			path, err := creds.WriteAuthFile(t.TempDir() + "/auth")
			if err != nil {
				t.Fatal(err)
			}
			info, _ := os.Stat(path)
			if info.Mode().Perm() != 0o600 {
				t.Errorf("auth file mode %v, want 0600", info.Mode().Perm())
			}
			data, _ := os.ReadFile(path)
			if !strings.Contains(string(data), host) {
				t.Errorf("auth file does not name the registry: %s", data)
			}
		})
	}
}
