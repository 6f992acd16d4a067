package awsfake

import (
	"sort"
	"strconv"
	"strings"
)

func (td *taskDefinition) active() bool { return td.doc["status"] != "INACTIVE" }

// usable refuses an INACTIVE revision for new tasks and services, as ECS
// does; describing one still works.
func usable(td *taskDefinition) error {
	if !td.active() {
		return clientErr("ClientException", "TaskDefinition is inactive")
	}
	return nil
}

func (s *Server) listTaskDefinitions(body []byte) (any, error) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
		MaxResults   *int   `json:"maxResults"`
		NextToken    string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	status := in.Status
	switch status {
	case "":
		status = "ACTIVE"
	case "ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS":
	default:
		return nil, clientErr("InvalidParameterException", "status %q is not valid.", in.Status)
	}
	limit, err := pageLimit(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	var arns []string
	for family, revs := range s.taskDefs {
		// "familyPrefix: The full family name to filter the
		// ListTaskDefinitions results with" (API reference): the family,
		// not a prefix of it.
		if in.FamilyPrefix != "" && family != in.FamilyPrefix {
			continue
		}
		for _, td := range revs {
			if (status == "ACTIVE") == td.active() {
				arns = append(arns, td.arn)
			}
		}
	}
	// ARNs sort by family, then by revision number (not as text).
	sort.Slice(arns, func(i, j int) bool {
		fi, ri := splitRevision(arns[i])
		fj, rj := splitRevision(arns[j])
		if fi != fj {
			return fi < fj
		}
		return ri < rj
	})
	if in.Sort == "DESC" {
		for i, j := 0, len(arns)-1; i < j; i, j = i+1, j-1 {
			arns[i], arns[j] = arns[j], arns[i]
		}
	}
	page, next, err := paginate(arns, in.NextToken, limit)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinitionArns": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func splitRevision(arn string) (string, int) {
	family, rev, _ := strings.Cut(arn[strings.LastIndexByte(arn, '/')+1:], ":")
	n, _ := strconv.Atoi(rev)
	return family, n
}

func (s *Server) deregisterTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !strings.Contains(in.TaskDefinition, ":") || strings.HasSuffix(in.TaskDefinition, ":") {
		return nil, clientErr("ClientException", "A task definition revision must be specified (family:revision or its ARN).")
	}
	td, err := s.lookupTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	td.doc["status"] = "INACTIVE"
	td.doc["deregisteredAt"] = epoch(s.now())
	return map[string]any{"taskDefinition": td.doc}, nil
}
