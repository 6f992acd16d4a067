package awsfake

import (
	"encoding/base64"
	"fmt"
	"time"
)

// getAuthorizationToken answers like ECR: a base64 "AWS:password" token
// valid for 12 hours and the registry endpoint.
func (s *Server) getAuthorizationToken(body []byte) (any, error) {
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.seq++
	token := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("AWS:sandbox-token-%d", s.seq)))
	return map[string]any{"authorizationData": []any{map[string]any{
		"authorizationToken": token,
		"expiresAt":          epoch(s.now().Add(12 * time.Hour)),
		"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", s.account, s.region),
	}}}, nil
}
