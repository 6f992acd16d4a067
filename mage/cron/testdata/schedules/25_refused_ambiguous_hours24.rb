# refused: with hours24 whenever silently runs "4:30 am" at midnight
set :chronic_options, hours24: true
every 1.day, at: "4:30 am" do
  rake "silently:midnight"
end
