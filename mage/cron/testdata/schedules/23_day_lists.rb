every [:monday, :wednesday, :friday], at: "7:00 am" do
  runner "Gym.remind"
end

every "tuesday, thursday", at: "6:00 pm" do
  command "echo tue-thu"
end
