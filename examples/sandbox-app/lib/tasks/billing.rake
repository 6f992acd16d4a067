namespace :billing do
  desc "Invoice last month's orders"
  task invoice: :environment do
    total = Order.where(created_at: 1.month.ago.all_month).sum(:total_cents)
    puts "billing:invoice: #{total} cents"
  end
end
