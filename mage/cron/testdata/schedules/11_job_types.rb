job_type :awesome, "/usr/local/bin/awesome :task :fun_level"
job_type :sidekiq_job, "cd :path && :environment_variable=:environment bundle exec rails runner ':task.perform_async' :output"

every 1.day, at: "5:00 am" do
  awesome "party", fun_level: "extreme"
  sidekiq_job "NightlyJob"
  script "cleanup.sh"
end
