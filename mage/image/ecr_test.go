package image

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// TestECRDeleteDigest deletes an image on moto_server through ECR's API
// (ECR does not answer the registry DELETE), tags and all.
func TestECRDeleteDigest(t *testing.T) {
	ctx := context.Background()
	client := ecr.NewFromConfig(testaws.Config(testaws.Moto(t)))
	if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("shop/app")}); err != nil {
		t.Fatal(err)
	}
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`
	put, err := client.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("shop/app"), ImageManifest: aws.String(manifest), ImageTag: aws.String("0123456789ab")})
	if err != nil {
		t.Fatal(err)
	}
	digest := aws.ToString(put.Image.ImageId.ImageDigest)
	host := "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	if err := ECRDeleteDigest(ctx, client, host+"/shop/app@"+digest); err != nil {
		t.Fatal(err)
	}
	images, err := client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("shop/app")})
	if err != nil {
		t.Fatal(err)
	}
	if len(images.ImageIds) != 0 {
		t.Errorf("after the delete the repository still lists %+v", images.ImageIds)
	}
	// Deleting it again reaches the same state: not an error.
	if err := ECRDeleteDigest(ctx, client, host+"/shop/app@"+digest); err != nil {
		t.Errorf("second delete: %v", err)
	}
	if err := ECRDeleteDigest(ctx, client, host+"/shop/app:0123456789ab"); err == nil {
		t.Error("a delete by tag was accepted")
	}
	if err := ECRDeleteDigest(ctx, client, host+"/nope@"+digest); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("delete in a missing repository = %v, want an error naming it", err)
	}
}
