if ENV["RAILS_ENV"] == "production"
  every 1.day, at: "2:00 am" do
    rake "production:only"
  end
else
  every 1.day do
    rake "staging:only"
  end
end

unless ENV["CRON_ENABLED"].nil?
  every 1.hour do
    runner "Enabled.check"
  end
end

if ENV["NOT_SET"] == "1"
  every 1.minute do
    command "never here"
  end
end
