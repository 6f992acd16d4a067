set :output, "log/cron.log"
every 3.hours do
  runner "MyModel.some_process"
  rake "my:rake:task"
end
every 1.day, at: '4:30 am' do
  command "/usr/bin/my_great_command"
end
every :sunday, at: '12pm' do
  runner "Task.do_something_great"
end
every '0 0 27-31 * *' do
  command "echo 'you can use raw cron syntax too'"
end
every :reboot do
  rake "cache:clear"
end
