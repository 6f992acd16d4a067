# The sandbox's failure switches, as real failures of the real app:
# SANDBOX_ROLLOUT_FAIL makes the app raise while it boots (the rollout's
# tasks crash, the circuit breaker trips). SANDBOX_FAIL is in
# lib/tasks/sandbox.rake.
if ENV["SANDBOX_ROLLOUT_FAIL"].present? && !Rails.env.test?
  raise "SANDBOX_ROLLOUT_FAIL is set: this release refuses to boot"
end
