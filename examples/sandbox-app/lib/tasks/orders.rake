namespace :orders do
  desc "Remind the buyers of unpaid orders"
  task remind_unpaid: :environment do
    unpaid = Order.where(paid_at: nil)
    puts "orders:remind_unpaid: #{unpaid.count} unpaid orders"
  end
end
