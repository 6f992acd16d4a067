// Reads {"policies": [{"name", "policy"}], "requests": [{"principal",
// "action", "resource", "account", "context", "resourcePolicy"}]} on stdin and prints one
// {"action", "resource", "result", "errors"} line of JSON per request:
// result is Allowed, ImplicitlyDenied or ExplicitlyDenied as the simulator
// decides with AWS's service authorization data.
import { runSimulation } from '@cloud-copilot/iam-simulate'

let input = ''
for await (const chunk of process.stdin) input += chunk
const { policies, requests } = JSON.parse(input)
for (const r of requests) {
  const sim = await runSimulation({
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy,
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.account },
      contextVariables: r.context ?? {},
    },
  }, {})
  const out = { action: r.action, resource: r.resource, result: sim.overallResult ?? sim.result?.analysis?.result }
  if (sim.errors) out.errors = sim.errors
  process.stdout.write(JSON.stringify(out) + '\n')
}
