env :PATH, "/usr/local/bin:/usr/bin:/bin"
env "MAILTO", "ops@example.com"
env :EMPTY, ""

every 1.day, at: "1:00 am" do
  command "backup --all"
end
