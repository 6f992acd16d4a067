set :job_template, nil
set :bundle_command, "bin/bundle exec"
set :runner_command, "bin/rails runner"

every 30.minutes do
  runner "Feed.refresh"
end

every 2.hours, at: 45 do
  rake "cache:expire"
end
